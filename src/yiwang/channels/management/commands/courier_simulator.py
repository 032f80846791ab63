"""``yiwang courier_simulator``: run the courier simulator as its own HTTP process (see
``yiwang.channels.simulator``)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from yiwang.channels.couriers import simulator_secret
from yiwang.channels.simulator import Simulator, serve


class Command(BaseCommand):
    help = "Run the courier simulator (快递模拟器): waybills, tracking, signed callbacks to the platform."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8790)
        parser.add_argument(
            "--callback-url",
            default="http://127.0.0.1:8000/api/v1/channels/couriers/simulator/callback",
            help="the platform's webhook for this courier",
        )
        parser.add_argument("--secret", default="", help="shared secret (default: YIWANG_COURIER_SIM_SECRET)")
        parser.add_argument("--step", type=float, default=5.0, help="seconds between tracking events; 0: on request")
        parser.add_argument("--duplicate", action="store_true", help="send every callback twice")
        parser.add_argument(
            "--db",
            default="",
            help="its own SQLite file for the waybills (default: var/courier-simulator.sqlite3; :memory: keeps none)",
        )

    def handle(self, *args, **options):
        sim = Simulator(
            callback_url=options["callback_url"],
            secret=options["secret"] or simulator_secret(),
            step=options["step"],
            duplicate=options["duplicate"],
            db_path=None
            if options["db"] == ":memory:"
            else (options["db"] or settings.VAR_DIR / "courier-simulator.sqlite3"),
        )
        sim.resume()
        server = serve(host=options["host"], port=options["port"], sim=sim)
        self.stdout.write(f"courier simulator on http://{options['host']}:{options['port']}/", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
