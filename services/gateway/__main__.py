from shared.service.runner import serve

from .app import create_app
from .settings import GatewaySettings

if __name__ == "__main__":
    serve(GatewaySettings(), create_app)
