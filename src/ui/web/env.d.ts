// The stylesheet is bundled by esbuild into its own file; importing it has no value in the script.
declare module "*.css";
