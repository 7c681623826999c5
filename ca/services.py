"""Composition root: build_services(config) wires every part once; callers never construct parts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ca import metrics
from ca.apikeys import ApiKeys
from ca.audit import AuditLog
from ca.authority import CertificateAuthority
from ca.ceremony import DevCeremony, DevHierarchy
from ca.clock import Clock, SystemClock
from ca.config import Config
from ca.crl import CRLService
from ca.errors import CAError, ErrorKind
from ca.inventory import CertificateInventory
from ca.issuers import IssuerDirectory
from ca.keys import KeyManagers, default_key_managers
from ca.organizations import Organizations
from ca.policy import Policy
from ca.publish import FilePublisher
from ca.ra import RegistrationAuthority
from ca.registry import Reconciler, Registry
from ca.repository import Repository
from ca.storage.engine import Storage
from ca.subscriptions import Subscriptions
from ca.tnauth import TNAuthList


@dataclass
class Services:
    config: Config
    clock: Clock
    storage: Storage
    keys: KeyManagers
    audit: AuditLog
    issuers: IssuerDirectory
    authority: CertificateAuthority
    crls: CRLService
    policy: Policy
    ra: RegistrationAuthority
    organizations: Organizations
    registry: Registry
    reconciler: Reconciler
    api_keys: ApiKeys
    inventory: CertificateInventory
    repository: Repository
    publisher: FilePublisher | None  # the file publisher, when [repository] directory is set
    subscriptions: Subscriptions

    def check_ready(self) -> None:
        """Start-up checks: the home is initialized, the schema current, every issuer key matches."""
        if not self.config.config_path.exists():
            raise CAError(
                ErrorKind.CONFIGURATION,
                f"{self.config.home} is not a Delegato home: run `delegato init` first",
                field="home",
            )
        self.storage.migrate()
        self.issuers.reload()
        self.issuers.check_keys()

    def close(self) -> None:
        self.keys.close()
        self.storage.dispose()


def build_services(
    config: Config, *, clock: Clock | None = None, keys: KeyManagers | None = None
) -> Services:
    clock = clock or SystemClock()
    keys = keys or default_key_managers()
    storage = Storage(config.database_url)
    audit = AuditLog(clock)
    issuers = IssuerDirectory(storage, keys, config)
    authority = CertificateAuthority(storage, issuers, config, clock, audit)
    crls = CRLService(storage, issuers, keys, config, clock, audit)
    repository = Repository(storage, issuers, config, clock)
    publisher = None
    if config.repository.directory is not None:
        # Every stored certificate and CRL is written out before the call that made it returns.
        publisher = FilePublisher(config.repository.directory, repository)
        authority.on_issued.append(publisher.certificate_issued)
        crls.on_generated.append(publisher.crl_generated)
    registry = Registry(storage, clock, audit, issuers, keys)
    reconciler = Reconciler(storage, clock, audit, crls)
    policy = Policy(registry)
    ra = RegistrationAuthority(
        storage, issuers, authority, crls, policy, registry, config, clock, audit
    )
    subscriptions = Subscriptions(storage, ra, registry, config, clock, audit)

    def on_registry_change(holders: Sequence[str]) -> None:
        # Ending or moving a right away from a holder revokes, at once, what no longer rests on
        # it; the subscriptions whose certificate that revoked get one for what is left, at once.
        report = reconciler.reconcile(holders)
        hit = sorted({revoked["holder"] for revoked in report.revoked})
        if hit:
            subscriptions.renew_due(organization_ids=hit)

    registry.lifecycle.on_change = on_registry_change
    subscriptions.observers.append(metrics.renewals)
    return Services(
        config=config,
        clock=clock,
        storage=storage,
        keys=keys,
        audit=audit,
        issuers=issuers,
        authority=authority,
        crls=crls,
        policy=policy,
        ra=ra,
        organizations=Organizations(storage, clock, audit),
        registry=registry,
        reconciler=reconciler,
        api_keys=ApiKeys(storage, clock, audit),
        inventory=CertificateInventory(storage, issuers, config),
        repository=repository,
        publisher=publisher,
        subscriptions=subscriptions,
    )


def initialize_home(
    services: Services, *, spc: str, sca_scope: TNAuthList, crl_model: str, actor: str
) -> DevHierarchy:
    """`delegato init`: config file, database schema, dev trust hierarchy, first CRLs."""
    config = services.config
    if config.config_path.exists():
        raise CAError(
            ErrorKind.CONFLICT,
            f"{config.home} is already initialized; choose another --home",
            field="home",
        )
    config.home.mkdir(parents=True, exist_ok=True)
    services.storage.migrate()
    hierarchy = DevCeremony(
        services.storage, services.keys, config, services.clock, services.audit
    ).run(spc=spc, sca_scope=sca_scope, crl_model=crl_model, actor=actor)
    services.issuers.reload()
    for info in services.issuers.all():
        if info.record.role in ("root", "sca"):
            services.crls.generate(info.id, actor=actor)
    if services.publisher is not None:
        services.publisher.publish_all()
    # Written last: a home with a config file is a finished home.
    config.config_path.write_text(config.to_toml())
    return hierarchy
