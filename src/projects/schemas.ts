import { Type } from "typebox";
import { DnsLabel, Labels, Text, Timestamp, Uuid } from "../http/schemas.ts";

export const ProjectName = DnsLabel("Project name");

export const Project = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    labels: Type.Record(Type.String(), Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
    created_by: Type.String(),
  },
  { $id: "Project" },
);

export const CreateProject = Type.Object(
  { name: ProjectName, description: Type.Optional(Text(1024, "Free text")), labels: Type.Optional(Labels) },
  { additionalProperties: false },
);

export const UpdateProject = Type.Object(
  { description: Type.Optional(Text(1024, "Free text")), labels: Type.Optional(Labels) },
  { additionalProperties: false },
);

export const ProjectParams = Type.Object({ project: ProjectName });
