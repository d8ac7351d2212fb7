# A service account is imported by its email, by project/name, or by its id.
terraform import latchkey_service_account.deployer deployer@default.serviceaccounts.latchkey
terraform import latchkey_service_account.deployer default/deployer
