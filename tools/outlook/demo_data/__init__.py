"""The Outlook demo mailbox and calendar."""
