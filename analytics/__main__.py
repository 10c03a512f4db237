"""`python -m analytics` (`make analytics`): migrate the facts database and build once.

`--rebuild` forgets every fact first and reads the sources from the start (after a change of
ANALYTICS_TIMEZONE, say). Prints what the build read, and what it could not parse.
"""

from __future__ import annotations

import argparse
import logging
import sys

from analytics.build import Builder, rebuild
from analytics.settings import AnalyticsSettings
from analytics.store.database import FactsDatabase
from settingsupport.environment import MissingSettingError


def main(argv: list[str] | None = None) -> int:
    """Build the facts once; 0 on success, 2 on a configuration error."""
    parser = argparse.ArgumentParser(prog="python -m analytics", description=__doc__)
    parser.add_argument("--rebuild", action="store_true", help="forget the facts and start over")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = AnalyticsSettings.from_env()
    except MissingSettingError as error:
        print(error, file=sys.stderr)
        return 2
    facts = FactsDatabase(settings.database_url)
    try:
        facts.migrate()
        if args.rebuild:
            rebuild(facts)
        builder = Builder.from_settings(settings, facts)
        try:
            report = builder.run()
        finally:
            builder.dispose()
    finally:
        facts.dispose()
    print(
        f"analytics: {report.tracker_events} tracker events ({report.conversations} "
        f"conversations), {report.handoffs} handoffs, {report.stage_changes} stage changes "
        f"in {report.seconds:.2f} s; {report.unparseable} rows could not be read"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
