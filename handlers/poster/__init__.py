"""The results poster (战绩海报): `poster_facts(services, campaign_id)` reads a campaign's results,
`render_poster(facts)` draws them as a PNG (`RenderedPoster`: the bytes and every text box)."""

from handlers.poster.facts import poster_facts
from handlers.poster.model import GroupFigure, PosterFacts, ProductFigure
from handlers.poster.render import RenderedPoster, render_poster

__all__ = ["GroupFigure", "PosterFacts", "ProductFigure", "RenderedPoster", "poster_facts", "render_poster"]
