from shared.service.runner import serve

from .app import create_app
from .settings import IngestSettings

if __name__ == "__main__":
    serve(IngestSettings(), create_app)
