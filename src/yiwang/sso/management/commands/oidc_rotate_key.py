"""Rotate the OpenID provider's signing key (docs/sso.md "Key rotation")."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from yiwang.sso import keys


class Command(BaseCommand):
    help = "新建 OIDC 签名密钥,原密钥转为只验签(留在 JWKS 中直到其签发的令牌全部过期)。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--prune",
            action="store_true",
            help="同时删除已退役超过令牌最长有效期的旧密钥",
        )

    def handle(self, *args, prune: bool = False, **options):
        if getattr(settings, "YIWANG_OIDC_PRIVATE_KEY_FROM_ENV", False):
            raise CommandError("the key comes from YIWANG_OIDC_PRIVATE_KEY: rotate it where it is set")
        directory = settings.YIWANG_OIDC_KEY_DIR
        retired = keys.rotate(directory)
        self.stdout.write(f"retired: {retired.name}; new key: {directory / 'current.pem'}")
        if prune:
            provider = settings.OAUTH2_PROVIDER
            longest = max(provider["ID_TOKEN_EXPIRE_SECONDS"], provider["ACCESS_TOKEN_EXPIRE_SECONDS"])
            for path in keys.prune(directory, older_than_seconds=longest + 300):
                self.stdout.write(f"removed: {path.name}")
        self.stdout.write("restart every web process so that each signs with the new key")
