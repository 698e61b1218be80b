import DXRuntime
import Ingestion

await ServiceHost.main(service: IngestionService.name, defaultPort: IngestionService.defaultPort, plan: IngestionService.plan)
