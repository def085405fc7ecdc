from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from firstline.demo import seed


class Command(BaseCommand):
    help = (
        "Build the synthetic demo city (Yushu City's real township-level units; invented villages, grids, "
        "households, people and accounts). Deterministic for a given --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, default=seed.DEFAULT_PERSONS, help="number of persons")
        parser.add_argument("--seed", type=int, default=seed.DEFAULT_SEED, help="random seed")
        parser.add_argument("--password", default=seed.DEFAULT_PASSWORD, help="password of every demo account")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database already holds persons"
        )
        parser.add_argument(
            "--insert-method",
            choices=("auto", "copy", "bulk_create", "executemany"),
            default="auto",
            help="how bulk rows are written (auto: COPY on PostgreSQL, executemany on SQLite)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["persons"] < 1:
            raise CommandError("--persons must be at least 1")
        if options["if_empty"] and seed.database_has_demo():
            self.stdout.write("seed_demo: the database already holds persons; nothing to do (--if-empty).")
            return
        self.stdout.write(f"seed_demo: {options['persons']:,} persons, seed {options['seed']}")
        try:
            report = seed.seed_demo(
                persons=options["persons"],
                seed=options["seed"],
                password=options["password"],
                log=self.stdout.write,
                insert_method=options["insert_method"],
            )
        except seed.SeedError as exc:
            raise CommandError(str(exc)) from exc
        counts = ", ".join(f"{key} {value:,}" for key, value in report.counts.items())
        self.stdout.write(self.style.SUCCESS(f"seed_demo: done in {report.seconds:.1f} s — {counts}"))
