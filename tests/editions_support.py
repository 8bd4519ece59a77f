"""A small second edition, built in a temporary copy of the repository (never in data/).

The copy gets a test edition ``2025-06`` scaffolded by ``edition new`` from a short text with
numbered headings, and exactly these changes against the real ``2025-03`` data:

* a figure revised: a June observation ``prov:wasRevisionOf`` the March count of irregular
  crossings on the Central Mediterranean route (a test value);
* a commitment added (a test amount for Tunisia);
* a next step removed (the March step on the Libya technical dialogue);
* a status changed (the Talent Partnership with Tunisia, ongoing → on hold);
* a new event (a test meeting of 13 May 2025) that realises a March next step (done).

The values are test values, not the report's: they exist only in the temporary copy.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from kg_helpers import REPO
from migration_kg.build.pipeline import BuildResult
from migration_kg.core.settings import Settings
from migration_kg.editions.scaffold import scaffold_edition

ID = "https://w3id.org/eu-migration-kg/id/"
NEW = "2025-06"
SEC = f"{ID}report/migration-state-of-play/{NEW}/section/"

TEXT = """\
EUROPEAN COUNCIL - MIGRATION STATE OF PLAY (TEST EDITION)

European Commission, June 2025

1 Implementation of the Pact on Migration and Asylum
1.1 Funding
EUR 3 billion remains available under AMIF and BMVI.
2 Strategic relations on migration with non-EU countries, especially countries of origin and transit
2.1 Central Mediterranean
In 2024, irregular border crossings along the Central Mediterranean route (around 67 000) fell.
2.2 Tunisia
The EU-Tunisia Subcommittee on Migration, Employment and Social Affairs met on 13 May.
EUR 20 million for border management in Tunisia. The Talent Partnership is on hold.
"""

FACTS = """
# --- test facts of the June 2025 test edition --------------------------------------------------
@prefix plan03: <https://w3id.org/eu-migration-kg/id/planned-action/2025-03/> .
@prefix obs03: <https://w3id.org/eu-migration-kg/id/observation/2025-03/> .

obs:central-mediterranean-irregular-border-crossings-2024 a emk:Observation ;
    rdfs:label "Irregular border crossings on the Central Mediterranean route in 2024"@en ;
    emk:measure measure:irregular-border-crossings ;
    emk:value 67000 ;
    emk:valueQualifier qualifier:approximately ;
    emk:unit unit:persons ;
    emk:refArea route:central-mediterranean ;
    emk:refPeriod period:2024 ;
    emk:dataSource eorg:frontex ;
    prov:wasRevisionOf obs03:central-mediterranean-irregular-border-crossings-2024 ;
    prov:wasDerivedFrom sec:central-mediterranean .

route:central-mediterranean prov:wasDerivedFrom sec:central-mediterranean .

funding:test-tunisia-border-management-2025-06 a emk:FundingCommitment ;
    rdfs:label "EUR 20 million for border management in Tunisia (test)"@en ;
    emk:amount [ a schema:MonetaryAmount ; schema:value "20000000"^^xsd:decimal ;
        schema:currency "EUR" ; emk:currency currency:EUR ] ;
    emk:beneficiary country:tunisia ;
    emk:purpose "border management"@en ;
    prov:wasDerivedFrom sec:tunisia .

event:2025-05-13-test-eu-tunisia-subcommittee-migration a emk:Meeting ;
    rdfs:label "EU-Tunisia Subcommittee on Migration, 13 May 2025 (test)"@en ;
    emk:date "2025-05-13"^^xsd:date ;
    emk:participant country:tunisia ;
    prov:wasDerivedFrom sec:tunisia .

plan03:eu-tunisia-subcommittee-migration-employment-social-affairs-2025-05-13
    emk:realisedBy event:2025-05-13-test-eu-tunisia-subcommittee-migration .

coop:talent-partnership-tunisia prov:wasDerivedFrom sec:tunisia .
country:tunisia prov:wasDerivedFrom sec:tunisia .
"""

REMOVED_STEP = "plan:libya-technical-dialogue-continuation"
RESOURCES = {
    "edition added": [f"{ID}report/migration-state-of-play/{NEW}"],
    "section added": [
        f"{SEC}{slug}"
        for slug in ("central-mediterranean", "external", "pact", "pact-funding", "tunisia")
    ],
    "revised figure": [
        f"{ID}observation/{NEW}/central-mediterranean-irregular-border-crossings-2024"
    ],
    "commitment added": [f"{ID}funding/test-tunisia-border-management-2025-06"],
    "event added": [f"{ID}event/2025-05-13-test-eu-tunisia-subcommittee-migration"],
    "next step removed": [f"{ID}planned-action/2025-03/libya-technical-dialogue-continuation"],
    "next step done": [
        f"{ID}planned-action/2025-03/eu-tunisia-subcommittee-migration-employment-social-affairs-2025-05-13"
    ],
    "status changed": [f"{ID}cooperation/talent-partnership-tunisia"],
    "new source": [f"{ID}country/tunisia", f"{ID}route/central-mediterranean"],
}


@dataclass(frozen=True)
class SecondEdition:
    """The real repository's release (``old``) and a copy with the test edition, built."""

    old: Path  # the release directory of the real repository
    settings: Settings
    result: BuildResult

    @property
    def new(self) -> Path:
        return self.settings.dist


def copy_repository(root: Path) -> Settings:
    """The ontology, shapes, data and queries of the repository, copied under ``root``."""
    for part in ("ontology", "shapes", "data", "queries"):
        shutil.copytree(REPO / part, root / part)
    return Settings(root=root, dist_dir=root / "dist")


def make_second_edition(root: Path) -> Settings:
    """Copy the repository to ``root`` and add the test edition 2025-06 (see the module doc)."""
    settings = copy_repository(root)
    _remove_block(settings.data_dir / "2025-03" / "07-routes-central-mediterranean.ttl")
    legal = settings.data_dir / "2025-03" / "06-legal-pathways.ttl"
    text = legal.read_text(encoding="utf-8")
    block = re.search(r"coop:talent-partnership-tunisia a .*?\.\n", text, re.S)
    assert block is not None and "status:ongoing" in block.group(0)
    changed = block.group(0).replace("status:ongoing", "status:on-hold")
    legal.write_text(text.replace(block.group(0), changed), encoding="utf-8")
    source = root / "report-2025-06.txt"
    source.write_text(TEXT, encoding="utf-8")
    scaffold = scaffold_edition(settings, NEW, source)
    with (scaffold.folder / "02-external.ttl").open("a", encoding="utf-8") as facts:
        facts.write(FACTS)
    return settings


def _remove_block(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    block = re.search(rf"^{re.escape(REMOVED_STEP)} a .*?\.\n\n", text, re.S | re.M)
    assert block is not None, f"{REMOVED_STEP} not found in {path}"
    path.write_text(text.replace(block.group(0), ""), encoding="utf-8")
