# DX Pulse. On a fresh machine: `make demo` or `make test`; both install and start what they need.
.PHONY: demo test stop status bench build

demo:
	@bash deploy/local/demo.sh

test:
	@bash deploy/local/test.sh

# Stops every service and server of ours, in every profile.
stop:
	@for profile in demo test bench; do bash deploy/local/infra.sh down $$profile; done

status:
	@for profile in demo test bench; do bash deploy/local/infra.sh status $$profile; done

build:
	swift build
bench:
	@bash deploy/local/bench.sh
