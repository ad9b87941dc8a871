"""实时销量榜 (issue 17): a live sales leaderboard riding the campaign's broadcasts, posted to a
group only while its sale is open and only when its figures changed since its last board."""
