from .settings import GatewaySettings

if __name__ == "__main__":
    settings = GatewaySettings()
    if (workers := settings.worker_count()) > 1:
        # The parent only starts and watches the workers: it builds no app of its own.
        from shared.service.workers import run_workers

        run_workers(settings, "services.gateway", workers)
    else:
        from shared.service.runner import serve

        from .app import create_app

        serve(settings, create_app)
