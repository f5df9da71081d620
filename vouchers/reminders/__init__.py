"""The learner's favourites and reminders (in-app and e-mail), each kind of reminder can be turned off."""
