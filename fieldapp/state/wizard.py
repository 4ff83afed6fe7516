"""The new-report wizard: coverage → place → people → photos, saved at every change.

Coverage, township, village, time, place and the account of events are kept in the draft record
(local, never synced, nothing personal). Leaving the place step creates the claim in the store
(marked `is_draft`) under the draft's id, with everything the server needs for a new claim; from
then on every field goes straight into the store, where personal data (victims) is encrypted at
rest, and the draft record only remembers which step the user was on. Closing the app mid-wizard therefore loses nothing: `NewReportWizard.resume` picks the draft up
where it was left. Finishing clears the draft flag; discarding withdraws the claim with a reason
(the server may already have the draft, and claims are never silently deleted).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from claimcore.localtime import to_china_time
from claimcore.validators import ID_NUMBER_LENGTHS, shortest_id_number
from fieldapp.state import reference

STEPS = ("coverage", "place", "people", "photos")
DRAFT_KIND = "claim_wizard"
# A clock a few minutes ahead of the phone's must not block a report made right now.
FUTURE_TOLERANCE = timedelta(minutes=5)
RELATIONS = ("self", "spouse", "child", "parent", "sibling", "other")


# Per identity document type (claimcore.entities.ID_TYPES): the i18n keys for a number still too
# short to judge, and for a wrong one.
ID_NUMBER_ERRORS: dict[str, tuple[str, str]] = {
    "resident_id": ("wizard.error.id_short", "wizard.error.id_invalid"),
    "passport": ("wizard.error.passport_short", "wizard.error.passport_invalid"),
    "foreign_permanent_resident": ("wizard.error.permanent_residence_short",
                                   "wizard.error.permanent_residence_invalid"),
    "residence_permit": ("wizard.error.residence_permit_short", "wizard.error.residence_permit_invalid"),
}
# The most characters a number of each type has (the field's max_length): claimcore's rule.
ID_NUMBER_MAX: dict[str, int] = {kind: longest for kind, (_, longest) in ID_NUMBER_LENGTHS.items()}


def _too_short(text: str, id_type: str) -> bool:
    compact = "".join(text.split())
    return len(compact) < shortest_id_number(id_type, compact)


def check_id_number(value: str, id_type: str | None = None) -> str | None:
    """The i18n key of what is wrong with an identity document's number as typed so far (checked
    by its type's rule, claimcore.validators; None: a resident ID), or None."""
    from claimcore.validators import DEFAULT_ID_TYPE, ValidationError, validate_identity_number

    kind = id_type or DEFAULT_ID_TYPE
    short, invalid = ID_NUMBER_ERRORS[kind]
    text = (value or "").strip()
    if not text:
        return None
    if _too_short(text, kind):
        return short
    try:
        validate_identity_number(text, kind)
    except ValidationError:
        return invalid
    return None


def check_phone(value: str) -> str | None:
    from claimcore.validators import ValidationError, validate_mobile

    text = (value or "").strip().replace(" ", "")
    if not text:
        return None
    try:
        validate_mobile(text)
    except ValidationError:
        return "wizard.error.phone_invalid"
    return None


@dataclass
class Victim:
    person_id: str | None = None
    name: str = ""
    id_number: str = ""
    phone: str = ""
    relation: str = "self"
    # The identity document (claimcore.entities.ID_TYPES); visitors show a passport or a permit.
    id_type: str = "resident_id"


@dataclass
class WizardState:
    draft_id: str
    step: str = "coverage"
    claim_created: bool = False
    coverage: str | None = None
    township_code: str | None = None
    village_code: str | None = None
    incident_at: str | None = None
    place: str = ""
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    description: str = ""
    loss_types: list[str] = field(default_factory=list)
    victims: list[Victim] = field(default_factory=lambda: [Victim()])


class NewReportWizard:
    def __init__(self, store: Any, user_id: str, role: str, user_township: str | None,
                 state: WizardState | None = None):
        self.store = store
        self.user_id = user_id
        self.role = role
        self.user_township = user_township
        self.s = state or WizardState(draft_id=str(uuid.uuid4()))
        self.errors: dict[str, str] = {}
        # The incident time as typed, not yet applied (it is parsed when the field is left, on the
        # next step, or on any flush): a typed time is never lost to a tap that skips the blur.
        self.time_text: str | None = None
        if state is None:
            self.s.incident_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.s.township_code = reference.township_for_fix(None, None, user_township)
            self._save_draft()

    # -- resume ------------------------------------------------------------------------------
    @classmethod
    def resume(cls, store: Any, user_id: str, role: str, user_township: str | None,
               draft_id: str | None = None) -> "NewReportWizard | None":
        """The open draft (the newest one, or `draft_id`), rebuilt from the store; None if none."""
        drafts = [d for d in store.drafts.list(kind=DRAFT_KIND) if draft_id in (None, d.id)]
        if not drafts:
            return None
        d = drafts[0]
        st = WizardState(draft_id=d.id, step=d.step or "coverage")
        data = d.data
        st.claim_created = bool(data.get("claim_created"))
        st.coverage = data.get("coverage")
        st.township_code = data.get("township_code")
        st.village_code = data.get("village_code")
        st.incident_at = data.get("incident_at")
        st.place = data.get("place") or ""
        st.description = data.get("description") or ""
        st.lat, st.lon, st.accuracy_m = data.get("lat"), data.get("lon"), data.get("accuracy_m")
        if st.claim_created:
            claim = store.claims.get(d.id)
            st.coverage = claim.coverage
            st.township_code = claim.township_code
            st.village_code = claim.village_code
            st.incident_at = claim.incident_at
            st.place = claim.address or ""
            st.lat, st.lon, st.accuracy_m = claim.lat, claim.lon, claim.accuracy_m
            st.description = claim.description or ""
            st.loss_types = list(claim.loss_types)
            victims = [Victim(p.id, p.name or "", p.id_number or "", p.phone or "", p.relation or "self",
                              p.id_type)
                       for p in claim.persons if p.role_in_claim == "victim"]
            st.victims = victims or [Victim()]
        return cls(store, user_id, role, user_township, state=st)

    # -- reading -----------------------------------------------------------------------------
    @property
    def step(self) -> str:
        return self.s.step

    @property
    def step_index(self) -> int:
        return STEPS.index(self.s.step)

    @property
    def claim_id(self) -> str:
        return self.s.draft_id

    def photos(self) -> list:
        if not self.s.claim_created:
            return []
        return self.store.photos.list_for_claim(self.claim_id)

    # -- saving ------------------------------------------------------------------------------
    def _save_draft(self) -> None:
        s = self.s
        # Only non-personal fields here: the drafts table is not encrypted. Persons live in the
        # store's persons table (sealed) once the claim exists.
        self.store.drafts.save(s.draft_id, {
            "claim_created": s.claim_created, "coverage": s.coverage,
            "township_code": s.township_code, "village_code": s.village_code,
            "incident_at": s.incident_at, "place": s.place, "description": s.description,
            "lat": s.lat, "lon": s.lon, "accuracy_m": s.accuracy_m,
        }, step=s.step, kind=DRAFT_KIND)

    def _create_claim(self) -> None:
        s = self.s
        self.store.claims.create(
            coverage=s.coverage, role=self.role, created_by=self.user_id,
            township_code=s.township_code, village_code=s.village_code,
            incident_at=s.incident_at, address=s.place.strip() or None, lat=s.lat, lon=s.lon,
            accuracy_m=s.accuracy_m, description=s.description.strip(), loss_types=s.loss_types,
            is_draft=True, claim_id=s.draft_id)
        s.claim_created = True

    def _update_claim(self, **fields: Any) -> None:
        if self.s.claim_created:
            self.store.claims.update(self.claim_id, **fields)
        else:
            self._save_draft()

    # -- step 1: coverage --------------------------------------------------------------------
    def choose_coverage(self, code: str) -> None:
        reference.catalogue().coverage(code)  # unknown coverage: error, nothing saved
        s = self.s
        s.coverage = code
        allowed = set(reference.catalogue().coverage(code).loss_types)
        s.loss_types = [lt for lt in s.loss_types if lt in allowed]
        self._update_claim(coverage=code, loss_types=s.loss_types)
        s.step = "place"
        self._save_draft()

    # -- step 2: place -----------------------------------------------------------------------
    def set_township(self, code: str | None) -> None:
        s = self.s
        s.township_code = code or None
        s.village_code = None
        self._update_claim(township_code=s.township_code, village_code=None)
        self.errors.pop("township", None)
        self._save_draft()

    def set_village(self, code: str | None) -> None:
        s = self.s
        if code and not reference.divisions().is_village_in(s.township_code or "", code):
            self.errors["village"] = "wizard.error.village_not_in_township"
            return
        s.village_code = code or None
        self._update_claim(village_code=s.village_code)
        self.errors.pop("village", None)
        self._save_draft()

    def set_incident_at(self, value: str) -> None:
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            self.errors["incident_at"] = "wizard.error.time_invalid"
            return
        when = to_china_time(when)  # typed as Dazu wall-clock time, whatever the device's zone
        if when > datetime.now(timezone.utc) + FUTURE_TOLERANCE:
            self.errors["incident_at"] = "wizard.error.time_future"
            return
        self.s.incident_at = when.isoformat(timespec="seconds")
        self._update_claim(incident_at=self.s.incident_at)
        self.errors.pop("incident_at", None)
        self._save_draft()

    def set_incident_text(self, text: str) -> None:
        """The time field as typed (every keystroke); applied by apply_incident_text/flush."""
        self.time_text = text

    def apply_incident_text(self) -> None:
        """Parse and store the typed time; a bad one stays typed, with its message."""
        if self.time_text is None:
            return
        self.set_incident_at(self.time_text)
        if "incident_at" not in self.errors:
            self.time_text = None

    def set_place(self, text: str, persist: bool = True) -> None:
        self.s.place = text
        if persist:
            self._update_claim(address=text.strip() or None)

    def set_description(self, text: str, persist: bool = True) -> None:
        self.s.description = text
        if persist:
            self._update_claim(description=text.strip() or None)

    def set_fix(self, fix: dict | None) -> None:
        """The GPS fix for the place; preselects the township when none is chosen yet."""
        if not fix:
            return
        s = self.s
        s.lat, s.lon, s.accuracy_m = fix.get("lat"), fix.get("lon"), fix.get("accuracy_m")
        self._update_claim(lat=s.lat, lon=s.lon, accuracy_m=s.accuracy_m)
        if not s.township_code:
            guess = reference.township_for_fix(s.lat, s.lon, self.user_township)
            if guess:
                self.set_township(guess)

    # -- step 3: people and losses ----------------------------------------------------------
    def toggle_loss_type(self, code: str) -> None:
        s = self.s
        allowed = reference.catalogue().coverage(s.coverage).loss_types if s.coverage else ()
        if code not in allowed:
            self.errors["loss_types"] = "wizard.error.loss_not_covered"
            return
        s.loss_types = [lt for lt in s.loss_types if lt != code] if code in s.loss_types \
            else [lt for lt in allowed if lt in (*s.loss_types, code)]
        self._update_claim(loss_types=s.loss_types)
        self.errors.pop("loss_types", None)

    def add_victim(self) -> None:
        self.s.victims.append(Victim(relation="other"))

    def remove_victim(self, index: int) -> None:
        v = self.s.victims.pop(index)
        if v.person_id:
            self.store.persons.remove(v.person_id)
        if not self.s.victims:
            self.s.victims.append(Victim())

    def set_victim(self, index: int, name: str, value: str, persist: bool = True) -> str | None:
        """One victim field as typed; returns the i18n key of a problem (shown at once).

        `persist=False` keeps it in memory only (every keystroke): the field is written to the
        store when it loses focus, on the next step, and before any redraw of the step."""
        v = self.s.victims[index]
        if name == "id_type":
            from claimcore.entities import ID_TYPES

            if value not in ID_TYPES:
                raise ValueError(f"unknown identity document type {value!r}")
            # Another document: the number typed is judged by the new type's rule.
            v.id_type = value
            name, value = "id_number", v.id_number
        setattr(v, name, value)
        err = None
        if name == "id_number":
            err = check_id_number(value, v.id_type)
        elif name == "phone":
            err = check_phone(value)
        key = f"victim{index}.{name}"
        if err:
            self.errors[key] = err
        else:
            self.errors.pop(key, None)
        if persist:
            self._store_victim(v)
        return err

    def flush(self) -> None:
        """Write what was typed but not yet stored (victims, address, description)."""
        self.apply_incident_text()
        for v in self.s.victims:
            self._store_victim(v)
        # The account of events is required by the record contract: an emptied box is not
        # stored (the place step asks for it again), never sent as a cleared value.
        texts: dict[str, Any] = {"address": self.s.place.strip() or None}
        if self.s.description.strip():
            texts["description"] = self.s.description.strip()
        self._update_claim(**texts)

    def _store_victim(self, v: Victim) -> None:
        if not self.s.claim_created:
            return
        # The store refuses an invalid ID or phone number (it would fail at payout); a half-typed
        # one stays on screen with its message and is stored once it is valid.
        fields = {"name": v.name.strip() or None, "relation": v.relation or None}
        # The document type travels with its number only: a type stored alone would not fit the
        # number already on file (the record contract refuses that pair).
        if check_id_number(v.id_number, v.id_type) is None:
            fields["id_number"] = v.id_number.strip() or None
            if fields["id_number"]:
                fields["id_type"] = v.id_type
        if check_phone(v.phone) is None:
            fields["phone"] = v.phone.strip().replace(" ", "") or None
        if v.person_id is None:
            if not any(fields.get(k) for k in ("name", "id_number", "phone")):
                return
            v.person_id = self.store.persons.add(self.claim_id, role_in_claim="victim", **fields)
        else:
            self.store.persons.update(v.person_id, **fields)

    # -- navigation --------------------------------------------------------------------------
    def validate_step(self, step: str | None = None) -> dict[str, str]:
        s = self.s
        step = step or s.step
        errs: dict[str, str] = {}
        if step == "coverage" and not s.coverage:
            errs["coverage"] = "wizard.error.coverage"
        if step == "place":
            if not s.township_code:
                errs["township"] = "wizard.error.township"
            if not s.village_code:
                errs["village"] = "wizard.error.village"
            if not s.incident_at:
                errs["incident_at"] = "wizard.error.time_invalid"
            if self.time_text is not None and "incident_at" in self.errors:
                errs["incident_at"] = self.errors["incident_at"]  # typed, but not a usable time
            # The account of events goes on the claim application; the server requires it.
            if not s.description.strip():
                errs["description"] = "wizard.error.description"
        if step == "people":
            if not s.loss_types:
                errs["loss_types"] = "wizard.error.loss_types"
            named = [v for v in s.victims if v.name.strip()]
            if not named:
                errs["victim0.name"] = "wizard.error.victim_name"
            for i, v in enumerate(s.victims):
                for fname, e in (("id_number", check_id_number(v.id_number, v.id_type)),
                                 ("phone", check_phone(v.phone))):
                    if e:
                        errs[f"victim{i}.{fname}"] = e
                if (v.id_number or v.phone) and not v.name.strip():
                    errs[f"victim{i}.name"] = "wizard.error.victim_name"
        return errs

    def next(self) -> bool:
        self.flush()
        errs = self.validate_step()
        if errs:
            self.errors.update(errs)
            return False
        i = self.step_index
        if self.s.step == "place" and not self.s.claim_created:
            self._create_claim()
        if i + 1 < len(STEPS):
            self.s.step = STEPS[i + 1]
            self._save_draft()
        return True

    def previous(self) -> None:
        self.flush()
        i = self.step_index
        if i > 0:
            self.s.step = STEPS[i - 1]
            self._save_draft()

    def go_to(self, step: str) -> None:
        if step in STEPS and (self.s.claim_created or step in ("coverage", "place")):
            self.s.step = step
            self._save_draft()

    def finish(self) -> str:
        """Check every step; the report leaves draft state. Returns the claim id.

        Raises ValueError naming the first step with a problem (errors hold the details)."""
        self.flush()
        for step in STEPS[:3]:
            errs = self.validate_step(step)
            if errs:
                self.errors.update(errs)
                self.s.step = step
                self._save_draft()
                raise ValueError(step)
        self.store.claims.update(self.claim_id, is_draft=False)
        self.store.drafts.delete(self.s.draft_id)
        return self.claim_id

    def discard(self, reason: str) -> None:
        if self.s.claim_created:
            self.store.claims.update(self.claim_id, is_draft=False)
            self.store.claims.transition(self.claim_id, "withdrawn", role=self.role,
                                         user=self.user_id, reason=reason)
        self.store.drafts.delete(self.s.draft_id)

