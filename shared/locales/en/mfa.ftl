# mfa pages
