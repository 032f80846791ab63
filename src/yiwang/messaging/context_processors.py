from django.utils.functional import SimpleLazyObject


def unread_messages(request):
    """``unread_messages`` for the header's badge: counted (one query) only if a page shows
    it, and only for a signed-in user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from yiwang.messaging.selectors import unread_count

    return {"unread_messages": SimpleLazyObject(lambda: unread_count(actor=user))}
