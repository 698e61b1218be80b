import DXRuntime
import Indicators

// Each batch frees and allocates tens of megabytes: kept for the next batch, not handed back to the kernel.
await ServiceHost.main(service: IndicatorsService.name, defaultPort: IndicatorsService.defaultPort, allocator: .keepFreedMemory,
                       plan: IndicatorsService.plan)
