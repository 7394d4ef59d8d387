from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "web.blog"
    label = "blog"

    def ready(self) -> None:
        from web.blog.selectors import post_id_is_public
        from web.live.channels import register_public_check

        # comments.post_<id> is a public live channel only while the post is published.
        register_public_check("comments.post_", post_id_is_public)
