from shared.service.runner import serve

from .app import create_app
from .settings import SearchSettings

if __name__ == "__main__":
    serve(SearchSettings(), create_app)
