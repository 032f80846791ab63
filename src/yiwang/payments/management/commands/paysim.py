"""``yiwang paysim --port 8790 --key-file var/paysim.key [--db var/paysim.sqlite3]``: run the
payment simulator channel; its books are kept in ``--db`` (default: beside the key file;
``--db :memory:`` keeps them in memory only)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from yiwang.payments import paysim


class Command(BaseCommand):
    help = "运行支付模拟渠道(收银台、下单/查询/退款/对账接口、SM2 签名回调),作为独立进程"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8790)
        parser.add_argument("--key-file", default="var/paysim.key")
        parser.add_argument("--public-url", default="", help="the cashier's URL as payers' browsers reach it")
        parser.add_argument("--db", default="", help="the simulator's own SQLite file (default: beside the key file)")

    def handle(self, *args, **options):
        db = options["db"] or str(Path(options["key_file"]).with_suffix(".sqlite3"))
        server, _bank = paysim.make_server(
            host=options["host"],
            port=options["port"],
            key_file=options["key_file"],
            public_url=options["public_url"],
            db_path=None if db == ":memory:" else db,
        )
        public = paysim.load_key(options["key_file"])[1]
        self.stdout.write(f"paysim listening on {options['host']}:{server.server_address[1]}", ending="\n")
        self.stdout.write(f"public key {public}", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
