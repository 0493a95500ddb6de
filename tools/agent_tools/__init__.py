"""smolagents tools over the game database, the knowledge base and the event bus.

`build_tools` is the one entry point for the agent runtime. Tools are built once and
shared by every request: they hold only their backend handles (a connection pool, the
knowledge base, the publisher, each safe to share across threads) and keep no
per-call state. smolagents is imported by `build_tools`, not by this package: the web
app imports the queries and the SQL login without loading it (no model, no agent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tools.agent_tools.base import ToolError
from tools.agent_tools.sql_guard import SqlLimits
from tools.agent_tools.sql_session import SqlLogin

if TYPE_CHECKING:
    from smolagents import Tool

    from tools.knowledge import KnowledgeBase
    from tools.postgres import Database
    from tools.publisher import EventPublisher

__all__ = ["SqlLimits", "SqlLogin", "ToolError", "build_tools"]


def build_tools(
    *,
    database: Database,
    knowledge: KnowledgeBase | None,
    publisher: EventPublisher | None,
    sql_limits: SqlLimits | None = None,
    sql_login: SqlLogin | None = None,
    modes: Sequence[str] | None = None,
) -> list[Tool]:
    """The agents' tools; those whose backend is not configured (None) are left out.

    The SQL tool runs as `sql_login` (default: the `agent_sql` login on the service's own
    server and database, which works where the server trusts local logins).

    `modes`, when given (e.g. `game.rules.available_modes()`), becomes the enum of the
    analytics tools' `mode` input; otherwise any well-formed mode is accepted and an
    empty answer lists the modes that have data.
    """
    from tools.agent_tools.alert_tool import PublishAlertTool
    from tools.agent_tools.analytics import ANALYTICS_TOOLS
    from tools.agent_tools.knowledge_tool import KnowledgeSearchTool
    from tools.agent_tools.opponent_tool import OpponentProfileTool
    from tools.agent_tools.sql_tool import SqlQueryTool

    tools: list[Tool] = [cls(database, modes) for cls in ANALYTICS_TOOLS]
    tools.append(SqlQueryTool(sql_login or SqlLogin.beside(database.dsn), sql_limits))
    tools.append(OpponentProfileTool(database))
    if knowledge is not None:
        tools.append(KnowledgeSearchTool(knowledge))
    if publisher is not None:
        tools.append(PublishAlertTool(publisher))
    return tools
