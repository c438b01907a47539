from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('imports', '0003_imp2_undo'),
    ]

    operations = [
        migrations.AddField(model_name='importjob', name='stage',
                            field=models.CharField(blank=True, default='', max_length=10)),
        migrations.AddField(model_name='importjob', name='stage_host',
                            field=models.CharField(blank=True, default='', max_length=255)),
        migrations.AddField(model_name='importjob', name='stage_pid',
                            field=models.IntegerField(blank=True, null=True)),
        migrations.AddField(model_name='importjob', name='stage_beat',
                            field=models.DateTimeField(blank=True, null=True,
                                                       help_text='Last slice written while staging.')),
        migrations.AddIndex(model_name='importjob',
                            index=models.Index(fields=['stage'], name='import_job_stage')),
    ]
