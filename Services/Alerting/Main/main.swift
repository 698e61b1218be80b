import Alerting
import DXRuntime

await ServiceHost.main(service: AlertingService.name, defaultPort: AlertingService.defaultPort, plan: AlertingService.plan)
