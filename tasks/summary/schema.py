"""The structured summary: the schema the LLM must fill, and the stored record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, Field


class Analysis(BaseModel):
    """The eight-part analysis of the reference post, minus what metadata supplies.

    Title, authors, affiliation and links come from metadata and extraction, never from here.
    """

    title_translation: str = Field(description="The paper's title translated into the language")
    keywords: list[str] = Field(min_length=3, max_length=8)
    background: str = Field(description="(1) Research background")
    prior_work: str = Field(description="(2) Past methods and their problems")
    method: str = Field(description="(3) The proposed method")
    performance: str = Field(description="(4) Tasks and the performance achieved")
    methodology: list[str] = Field(min_length=2, max_length=6, description="Steps of the method")
    significance: str = Field(description="Conclusion (1): significance of the work")
    innovation: str = Field(description="Conclusion (2): innovation")
    performance_assessment: str = Field(description="Conclusion (2): performance")
    workload: str = Field(description="Conclusion (2): workload")


class PaperSummary(BaseModel):
    """One paper's summary, as the LLM returns it."""

    one_line: str = Field(max_length=300, description="A one-sentence summary")
    takeaways: list[str] = Field(min_length=3, max_length=7)
    analysis: Analysis


@dataclass(frozen=True)
class SummaryRecord:
    """A validated summary with where it came from and what it cost."""

    arxiv_id: str
    version: int
    backend: str
    model: str
    prompt_version: str
    language: str
    summary: PaperSummary
    prompt_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    # When the summary was made: a cached record keeps its time, so a day's spend is exact.
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    served_model: str = ""  # the model that answered, when the service names another
    calls: int = 1  # requests it took (an empty answer resent, a repair), for llm_rpd
