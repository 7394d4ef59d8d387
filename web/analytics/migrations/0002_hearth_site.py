from django.db import migrations


def create_hearth_site(apps, schema_editor):
    Site = apps.get_model("analytics", "Site")
    if not Site.objects.filter(pk=1).exists():
        Site.objects.create(pk=1, name="Hearth", domains=["127.0.0.1", "localhost"])


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_sites")]
    operations = [migrations.RunPython(create_hearth_site, migrations.RunPython.noop)]
