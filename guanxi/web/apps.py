from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "guanxi.web"
    verbose_name = _("Web")

    def ready(self):
        from guanxi.web.signin import install_last_login_receiver

        install_last_login_receiver()
