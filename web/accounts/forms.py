"""Forms that are not views' business: the throttled admin login."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from web.accounts import services
from web.accounts.views import client_ip


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """Django admin's login form, limited per IP and per username before the password is
    checked (services.admin_login_throttle); over the limit the form shows one error."""

    def clean(self) -> dict[str, Any]:
        ip = client_ip(self.request) if self.request is not None else "unknown"
        try:
            services.admin_login_throttle(ip=ip, username=self.cleaned_data.get("username", ""))
        except services.RateLimited as exc:
            raise ValidationError(str(exc), code="rate_limited") from exc
        return super().clean()
