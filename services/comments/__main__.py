from shared.service.runner import serve

from .app import create_app
from .settings import CommentsSettings

if __name__ == "__main__":
    serve(CommentsSettings(), create_app)
