from shared.service.runner import serve

from .app import create_app
from .settings import ViewsSettings

if __name__ == "__main__":
    serve(ViewsSettings(), create_app)
