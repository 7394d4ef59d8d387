from django.contrib import admin

from web.accounts.forms import ThrottledAdminAuthenticationForm
from web.accounts.models import Profile

# The admin's password login goes through the same ttl.db rate limiter as the code sign-in.
admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "trusted"]
    list_editable = ["trusted"]
    search_fields = ["user__username", "display_name"]
    raw_id_fields = ["user"]
