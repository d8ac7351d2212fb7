# A token is imported by its id. Its secret cannot be imported, since the server shows it only
# once: after import, `token` is null. Replace the token (for example by changing
# rotate_when_changed) to get a secret that Terraform knows.
terraform import latchkey_token.ci 8a0c63c9-6b3c-4a4e-9bb2-4f3a7b6f1d10
