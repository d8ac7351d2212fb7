export type Labels = Record<string, string>;

export const parseLabels = (text: string): Labels => JSON.parse(text) as Labels;
export const parseList = (text: string): string[] => JSON.parse(text) as string[];
