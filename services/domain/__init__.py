"""The Grassroots domain: aggregates, events, commands and their rules. No I/O.

Importing the package registers the fixed stored topics before any aggregate can be used.
"""
from services.domain.assessment import AssessmentScore
from services.domain.cadre import Cadre
from services.domain.campaign import Campaign
from services.domain.errors import DomainError, InvalidCommand, InvalidState, NotFound, NotPermitted
from services.domain.household import Household
from services.domain.interview import Interview
from services.domain.issue import Issue
from services.domain.pairing import Pairing
from services.domain.proposal import HouseholdProposal
from services.domain.receipt import CommandReceipt, receipt_id
from services.domain.reception import Reception, ReceptionSchedule
from services.domain.research import ResearchReport, ResearchTopic
from services.domain.review import ReviewMinutes
from services.domain.target import ContactTarget, TargetRegister
from services.domain.topics import register_stored_topics
from services.domain.visit import Visit

register_stored_topics()

__all__ = [
    "AssessmentScore", "Cadre", "Campaign", "CommandReceipt", "ContactTarget", "DomainError", "Household",
    "HouseholdProposal", "Interview", "InvalidCommand", "InvalidState", "Issue", "NotFound", "NotPermitted", "Pairing",
    "Reception",
    "ReceptionSchedule", "ResearchReport", "ResearchTopic", "ReviewMinutes", "TargetRegister", "Visit", "receipt_id",
]
