"""SQLAlchemy models of the service catalogue.

Texts that regions can override (summary, materials, steps...) are stored as one
JSON document per row (``fields``) so that the override merge is field by field.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Service(Base):
    __tablename__ = "services"

    code = Column(String(64), primary_key=True)
    name = Column(String(100), nullable=False)
    domain = Column(String(32), nullable=False, index=True)
    fields = Column(JSON, nullable=False)
    keywords = Column(JSON, nullable=False, default=list)
    office_kinds = Column(JSON, nullable=False, default=list)
    needs_region = Column(Boolean, nullable=False, default=True)
    source = Column(Text, nullable=False)
    last_checked = Column(Date, nullable=False)
    sample = Column(Boolean, nullable=False, default=False)
    position = Column(Integer, nullable=False, default=0)


class Region(Base):
    __tablename__ = "regions"

    code = Column(String(64), primary_key=True)
    name = Column(String(100), nullable=False)
    short_name = Column(String(50), nullable=False)
    level = Column(String(16), nullable=False)
    parent_code = Column(String(64), ForeignKey("regions.code"), nullable=True, index=True)
    aliases = Column(JSON, nullable=False, default=list)
    hotline = Column(String(32), nullable=True)
    ambiguous_short_name = Column(Boolean, nullable=False, default=False)

    parent = relationship("Region", remote_side=[code])


class ServiceOverride(Base):
    __tablename__ = "service_overrides"
    __table_args__ = (UniqueConstraint("service_code", "region_code"),)

    id = Column(Integer, primary_key=True)
    service_code = Column(String(64), ForeignKey("services.code"), nullable=False)
    region_code = Column(String(64), ForeignKey("regions.code"), nullable=False, index=True)
    fields = Column(JSON, nullable=False)
    automatic = Column(Boolean, nullable=False, default=False)
    sample = Column(Boolean, nullable=False, default=False)
    source = Column(Text, nullable=False)
    last_checked = Column(Date, nullable=False)

    amounts = relationship(
        "Amount", order_by="Amount.position", cascade="all, delete-orphan", lazy="selectin"
    )


class Amount(Base):
    __tablename__ = "amounts"

    id = Column(Integer, primary_key=True)
    override_id = Column(Integer, ForeignKey("service_overrides.id"), nullable=False, index=True)
    label = Column(String(100), nullable=False)
    min_age = Column(Integer, nullable=True)
    max_age = Column(Integer, nullable=True)
    monthly = Column(Float, nullable=True)
    amount_text = Column(String(200), nullable=True)
    position = Column(Integer, nullable=False, default=0)


class Office(Base):
    __tablename__ = "offices"

    code = Column(String(64), primary_key=True)
    region_code = Column(String(64), ForeignKey("regions.code"), nullable=False, index=True)
    name = Column(String(200), nullable=False)
    kind = Column(String(32), nullable=False)
    address = Column(Text, nullable=False)
    hours = Column(Text, nullable=False)
    phone = Column(String(64), nullable=True)
    booking = Column(Text, nullable=True)
    sample = Column(Boolean, nullable=False, default=True)
    position = Column(Integer, nullable=False, default=0)


class OfficeService(Base):
    __tablename__ = "office_services"

    office_code = Column(String(64), ForeignKey("offices.code"), primary_key=True)
    service_code = Column(String(64), ForeignKey("services.code"), primary_key=True)


class OutOfScopeTopic(Base):
    __tablename__ = "out_of_scope_topics"

    id = Column(Integer, primary_key=True)
    topic = Column(String(100), nullable=False)
    keywords = Column(JSON, nullable=False)
    agency = Column(String(200), nullable=False)
    hotline = Column(String(32), nullable=True)
    hint = Column(Text, nullable=True)


class EntryPoint(Base):
    """A QR-code entry point: the payload opens the chat on a service and office."""

    __tablename__ = "entry_points"

    id = Column(String(64), primary_key=True)
    service_code = Column(String(64), ForeignKey("services.code"), nullable=False)
    region_code = Column(String(64), ForeignKey("regions.code"), nullable=True)
    office_code = Column(String(64), ForeignKey("offices.code"), nullable=True)
    label = Column(String(200), nullable=False)
    position = Column(Integer, nullable=False, default=0)


class CatalogMeta(Base):
    __tablename__ = "catalog_meta"

    key = Column(String(64), primary_key=True)
    value = Column(Text, nullable=False)


# -- operational data (not replaced by `catalog load`) ---------------------------------
# Office codes are not foreign keys here: reloading the catalogue replaces the offices,
# and appointments must survive that. bot.booking checks codes against the catalogue.


class BookingSlot(Base):
    """One bookable time slot. ``booked <= capacity`` is enforced by the database
    (CHECK) and by the conditional UPDATE that takes a place (bot.booking)."""

    __tablename__ = "booking_slots"
    __table_args__ = (
        UniqueConstraint("office_code", "kind", "day", "start_time", name="uq_booking_slots_time"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_booking_slots_capacity"),
    )

    id = Column(Integer, primary_key=True)
    office_code = Column(String(64), nullable=False, index=True)
    kind = Column(String(16), nullable=False)  # marriage | divorce
    day = Column(Date, nullable=False)
    start_time = Column(String(5), nullable=False)  # "09:00"
    end_time = Column(String(5), nullable=False)
    capacity = Column(Integer, nullable=False)
    booked = Column(Integer, nullable=False, default=0)


class Booking(Base):
    __tablename__ = "bookings"

    code = Column(String(16), primary_key=True)
    slot_id = Column(Integer, ForeignKey("booking_slots.id"), nullable=False, index=True)
    name = Column(String(64), nullable=False)
    phone = Column(String(20), nullable=False)
    status = Column(String(16), nullable=False, default="booked")  # booked | cancelled
    created_at = Column(DateTime, nullable=False)
    # what made it (a hash of conversation and turn id): a turn run twice books once
    request_key = Column(String(64), nullable=True)
    __table_args__ = (Index("ux_bookings_request_key", "request_key", unique=True),)


class Application(Base):
    """An application (办件) whose progress citizens can look up."""

    __tablename__ = "applications"

    number = Column(String(32), primary_key=True)
    service_code = Column(String(64), nullable=False)
    applicant_name = Column(String(64), nullable=False)
    phone = Column(String(20), nullable=False)
    region_code = Column(String(64), nullable=True)
    sample = Column(Boolean, nullable=False, default=False)

    events = relationship("ApplicationEvent", order_by="ApplicationEvent.position",
                          cascade="all, delete-orphan", lazy="selectin")


class ApplicationEvent(Base):
    __tablename__ = "application_events"

    id = Column(Integer, primary_key=True)
    number = Column(String(32), ForeignKey("applications.number"), nullable=False, index=True)
    at = Column(DateTime, nullable=False)
    status = Column(String(64), nullable=False)
    note = Column(Text, nullable=True)
    position = Column(Integer, nullable=False, default=0)


class LookupFailure(Base):
    """Failed status lookups per conversation, for throttling across workers."""

    __tablename__ = "lookup_failures"

    id = Column(Integer, primary_key=True)
    conversation = Column(String(128), nullable=False, index=True)
    at = Column(DateTime, nullable=False)


# -- hotline staff (issue 5) -------------------------------------------------------------


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id = Column(Integer, primary_key=True)
    name = Column(String(32), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False)
    # "operator" or "supervisor" (may reveal personal data in handoffs served by others)
    role = Column(String(16), nullable=False, default="operator", server_default="operator")


class StaffSession(Base):
    """A signed-in browser. Only a hash of the cookie's token is stored."""

    __tablename__ = "staff_sessions"

    token_hash = Column(String(64), primary_key=True)
    account_id = Column(Integer, ForeignKey("staff_accounts.id"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)  # absolute limit
    last_seen = Column(DateTime, nullable=False)  # for the idle timeout


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, index=True)
    remote = Column(String(64), nullable=False, index=True)
    at = Column(DateTime, nullable=False)
    ok = Column(Boolean, nullable=False)


class Handoff(Base):
    """A conversation handed from the bot to a person: waiting -> active -> closed."""

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)  # a channel name from bot.channels
    sender = Column(String(128), nullable=False, index=True)  # the Rasa sender id (web-..., tg-...)
    status = Column(String(16), nullable=False)  # waiting | active | closed
    reason = Column(String(32), nullable=False)  # asked | bot_failed
    understood = Column(JSON, nullable=False)  # what the bot understood: service, region, form answers
    created_at = Column(DateTime, nullable=False)
    taken_by = Column(Integer, ForeignKey("staff_accounts.id"), nullable=True)
    taken_at = Column(DateTime, nullable=True)
    closed_at = Column(DateTime, nullable=True)
    outcome = Column(String(16), nullable=True)  # back_to_bot | closed | timed_out | citizen_left


class HandoffMessage(Base):
    __tablename__ = "handoff_messages"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"), nullable=False, index=True)
    at = Column(DateTime, nullable=False)
    author = Column(String(16), nullable=False)  # citizen | bot | operator | system
    text = Column(Text, nullable=False)
    delivered = Column(Boolean, nullable=False, default=False)  # operator/system messages: reached the citizen


class ReviewItem(Base):
    """A citizen message for staff to review: the bot fell back, was unsure, or its guide
    was rated unhelpful. Staff assign the right service (or out of scope) for training."""

    __tablename__ = "review_items"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    source = Column(String(16), nullable=False)  # fallback | low_confidence | unhelpful
    channel = Column(String(16), nullable=True)
    text = Column(Text, nullable=False)
    intent = Column(String(64), nullable=True)
    confidence = Column(Float, nullable=True)
    service = Column(String(64), nullable=True)  # the guide shown, if any
    label = Column(String(64), nullable=True)  # assigned: a service code, "out_of_scope" or "skip"
    reviewed_by = Column(Integer, ForeignKey("staff_accounts.id"), nullable=True)
    reviewed_at = Column(DateTime, nullable=True)


class Rating(Base):
    """有帮助 / 没帮助 on a guide."""

    __tablename__ = "ratings"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    service = Column(String(64), nullable=False)
    helpful = Column(Boolean, nullable=False)


class QuestionStat(Base):
    """One row per citizen message answered by the bot (no text, no sender): for the overview."""

    __tablename__ = "question_stats"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    kind = Column(String(32), nullable=False)  # guide | section | clarify | out_of_scope | handoff... | other
    service = Column(String(64), nullable=True)


class RevealLog(Base):
    """An operator showed the unmasked ID-card and phone numbers of a conversation."""

    __tablename__ = "reveal_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False)
    staff_id = Column(Integer, ForeignKey("staff_accounts.id"), nullable=False, index=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"), nullable=False)


class ThrottleHit(Base):
    """Attempt counters per key and fixed time window (``bot.throttle``), shared by every process."""

    __tablename__ = "throttle_hits"

    key = Column(String(160), primary_key=True)
    window_start = Column(DateTime, primary_key=True)
    count = Column(Integer, nullable=False, default=0)
