from .openai import OpenAIScorer
from .rubric import RubricScorer

SCORERS = {"rubric": RubricScorer, "openai": OpenAIScorer}
