"""晒单有礼 (issue 17): after closing, the first N buyers to post a picture get the declared reward."""
