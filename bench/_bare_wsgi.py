"""The bare floor: Django answering "hello" with nothing else — no apps, no middleware, no
database, one URL — served by the same server as the platform (``bench.floor``).

What the framework and the server cost per request on this machine; every other figure of a
run is given as a ratio to it. Loaded by gunicorn or granian as ``bench._bare_wsgi:application``
(the leading underscore keeps the runner from importing it as a benchmark).
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    SECRET_KEY="bench-bare-floor-not-a-secret",
    USE_I18N=False,
)


def hello(request):
    # With its length, as the platform's CommonMiddleware sends every response: a keep-alive
    # client then knows where the body ends.
    return HttpResponse(b"hello", content_type="text/plain", headers={"Content-Length": "5"})


urlpatterns = [path("hello", hello)]
application = get_wsgi_application()
