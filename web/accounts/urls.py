from django.urls import path

from web.accounts import views

app_name = "accounts"
urlpatterns = [
    path("accounts/sign-in/", views.sign_in, name="sign_in"),
    path("accounts/sign-in/code/", views.enter_code, name="code"),
    path("accounts/sign-out/", views.sign_out, name="sign_out"),
]
