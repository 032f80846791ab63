from django.conf import settings


def preferences(request):
    return {
        "elder_mode": getattr(request, "elder_mode", False),
        "site_url": settings.SITE_URL,
    }
