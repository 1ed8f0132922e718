from .indicators import INDEX_CODE, Indicator, IndicatorLevel, IndicatorValue, Polarity, Target
from .instruments import Dimension, Facet, Instrument, InstrumentVersion, Item
from .population import PopulationMargin
from .regions import Region, RegionLevel
from .respondents import Respondent
from .responses import (
    ANSWER_MISSING,
    AgeGroup,
    Response,
    ResponseSource,
    ResponseStatus,
    Sex,
)
from .results import (
    ALL_REGIONS,
    OVERALL,
    AchievementResult,
    CfaResult,
    ChangeResult,
    EstimateResult,
    IndexRun,
    ItemResult,
    ProxyValidationResult,
    ReliabilityResult,
    RunPart,
    RunStatus,
    RunWave,
    TrendResult,
    WaveWeights,
)
from .waves import Wave, WaveStatus

__all__ = [
    "ALL_REGIONS", "ANSWER_MISSING", "INDEX_CODE", "OVERALL",
    "AchievementResult", "AgeGroup", "CfaResult", "ChangeResult", "Dimension", "EstimateResult",
    "Facet", "IndexRun", "Indicator", "IndicatorLevel", "IndicatorValue", "Instrument",
    "InstrumentVersion", "Item", "ItemResult", "Polarity", "PopulationMargin",
    "ProxyValidationResult", "Region", "RegionLevel", "ReliabilityResult", "Respondent",
    "Response", "ResponseSource", "ResponseStatus", "RunPart", "RunStatus", "RunWave", "Sex",
    "Target",
    "TrendResult", "Wave", "WaveStatus", "WaveWeights",
]

from .access import RegionAssignment, Role  # noqa: E402

__all__ += ["RegionAssignment", "Role"]

from .invitations import Invitation  # noqa: E402

__all__ += ["Invitation"]

from .jobs import ExportDownload, ExportJob, ImportJob, JobSource, JobStatus  # noqa: E402

__all__ += ["ExportDownload", "ExportJob", "ImportJob", "JobSource", "JobStatus"]

from .programmes import Programme, ProgrammeEffectResult, ProgrammeTypeResult  # noqa: E402

__all__ += ["Programme", "ProgrammeEffectResult", "ProgrammeTypeResult"]

from .smallarea import SmallAreaMethod, SmallAreaResult  # noqa: E402

__all__ += ["SmallAreaMethod", "SmallAreaResult"]

from .longitudinal import (  # noqa: E402
    COMPARABILITY_OF_LEVEL,
    Comparability,
    InvarianceResult,
    PanelChangeResult,
    RetentionResult,
    WaveMoments,
)

__all__ += ["COMPARABILITY_OF_LEVEL", "Comparability", "InvarianceResult", "PanelChangeResult",
            "RetentionResult", "WaveMoments"]

from .bridges import BridgeResult  # noqa: E402
from .instruments import ItemLink, LinkRelation  # noqa: E402

__all__ += ["BridgeResult", "ItemLink", "LinkRelation"]
