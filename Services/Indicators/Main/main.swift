import DXRuntime
import Indicators

await ServiceHost.main(service: IndicatorsService.name, defaultPort: IndicatorsService.defaultPort, plan: IndicatorsService.plan)
