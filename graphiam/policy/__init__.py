"""The policy engine: parse IAM policy documents once, decide requests as AWS documents.

Pure: no I/O, no database, no GraphQL. See evaluate.py for the decision rules and the AWS pages
each module implements.
"""

from graphiam.policy.document import PolicyDocument, Statement, parse_policy
from graphiam.policy.evaluate import Decision, Evaluation, evaluate
from graphiam.policy.request import Request
from graphiam.policy.source import PolicySource
from graphiam.policy.statement import StatementMatch
from graphiam.policy.validate import Problem, validate_policy

__all__ = [
    "Decision",
    "Evaluation",
    "PolicyDocument",
    "PolicySource",
    "Problem",
    "Request",
    "Statement",
    "StatementMatch",
    "evaluate",
    "parse_policy",
    "validate_policy",
]
