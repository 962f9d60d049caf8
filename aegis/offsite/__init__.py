"""Offsite backups: age-encrypted archives and their manifests in an S3-compatible store.

``deploy/backup.sh`` makes the archive (age encrypts it before anything leaves the machine) and
calls ``python -m aegis.offsite push``; ``deploy/restore.sh`` calls ``pull``. See deploy/README.md.
"""
