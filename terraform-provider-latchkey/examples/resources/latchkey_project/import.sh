# A project is imported by its name.
terraform import latchkey_project.payments payments
