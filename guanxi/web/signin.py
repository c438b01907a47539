"""Signing in writes nothing it must wait for: the session is a signed cookie (settings.SESSION_ENGINE), and the
user's last_login is best-effort, skipped while another writer (an import on SQLite) holds the lock."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.utils import timezone

from guanxi.database_busy import write_if_free


def _record(sender, user, **kwargs) -> None:
    now = timezone.now()
    user.last_login = now
    write_if_free(lambda: get_user_model()._default_manager.filter(pk=user.pk).update(last_login=now),
                  what=f"last_login of user {user.pk}")


def install_last_login_receiver() -> None:
    """Replace django.contrib.auth's receiver, which saves last_login and fails on a locked database."""
    user_logged_in.disconnect(dispatch_uid="update_last_login")
    user_logged_in.connect(_record, dispatch_uid="guanxi_last_login_if_free")
