"""Benchmark suites of scripts/bench, one module each (run, print_table, as_json)."""

from __future__ import annotations

from ca.clock import SystemClock
from ca.config import Config
from ca.services import Services, build_services, initialize_home
from ca.tnauth import TNAuthList


def initialized(config: Config) -> Services:
    """Services over a new home with a development hierarchy whose SCA holds 12025550000+10000."""
    services = build_services(config, clock=SystemClock())
    try:
        initialize_home(
            services,
            spc="1234",
            sca_scope=TNAuthList.from_user(ranges=["12025550000:10000"]),
            crl_model="direct",
            actor="bench",
        )
    except BaseException:
        services.close()
        raise
    return services
