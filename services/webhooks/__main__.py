from shared.service.runner import serve

from .app import create_app
from .settings import WebhooksSettings

if __name__ == "__main__":
    serve(WebhooksSettings(), create_app)
