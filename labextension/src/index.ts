/**
 * jupyter-kf's JupyterLab plugin: the "Training jobs" side panel and its commands.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { FileDialog } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { IJobSummary, KFApi } from './api';
import { JobsModel } from './model';
import { KFPanel } from './panel';

const PLUGIN_ID = 'jupyter-kf-labextension:plugin';

export namespace CommandIDs {
  export const open = 'jupyter-kf:open';
  export const newJob = 'jupyter-kf:new-job';
  export const launchCell = 'jupyter-kf:launch-cell';
  export const reload = 'jupyter-kf:reload';
  export const show = 'jupyter-kf:show-job';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Launch, watch and scale Kubeflow training jobs from a side panel.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry, INotebookTracker, IDocumentManager],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    notebooks: INotebookTracker | null,
    docManager: IDocumentManager | null
  ) => {
    const api = new KFApi(app.serviceManager.serverSettings);
    const model = new JobsModel(api);

    const currentCell = () => {
      const panel = notebooks?.currentWidget;
      const cell = notebooks?.activeCell;
      if (!panel || !cell || cell.model.type !== 'code') {
        return null;
      }
      return { source: cell.model.sharedModel.getSource(), notebook: panel.context.path };
    };
    const pickScript = async () => {
      if (!docManager) {
        return null;
      }
      const result = await FileDialog.getOpenFiles({
        manager: docManager,
        title: 'Pick the training script',
        filter: item => (item.type === 'directory' || item.name.endsWith('.py') ? {} : null)
      });
      const picked = result.value?.find(item => item.type !== 'directory');
      return picked ? picked.path : null;
    };

    const panel = new KFPanel({ model, pickScript, currentCell });
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, 'jupyter-kf-panel');

    const started = model.start();

    // A job that ends while the user looks elsewhere: a notification, with a link to it.
    model.finished.connect((_sender, job: IJobSummary) => {
      const watching = panel.isVisible && model.selected === job.name;
      if (watching) {
        return;
      }
      const failed = job.status.phase === 'Failed';
      const why = job.status.message ? `: ${job.status.message}` : '';
      const text = `Training job ${job.name} ${failed ? 'failed' : 'succeeded'}${failed ? why : ''}`;
      const options = {
        autoClose: failed ? (false as const) : 8000,
        actions: [{ label: 'Show job', callback: () => void app.commands.execute(CommandIDs.show, { name: job.name }) }]
      };
      if (failed) {
        Notification.error(text, options);
      } else {
        Notification.success(text, options);
      }
    });

    const open = () => app.shell.activateById(panel.id);
    app.commands.addCommand(CommandIDs.open, { label: 'Show Training Jobs', execute: open });
    app.commands.addCommand(CommandIDs.newJob, {
      label: 'New Training Job…',
      execute: () => {
        open();
        panel.showForm();
      }
    });
    app.commands.addCommand(CommandIDs.launchCell, {
      label: 'Launch Current Cell as a Training Job…',
      isEnabled: () => currentCell() !== null,
      execute: () => {
        const cell = currentCell();
        open();
        panel.showForm(cell ? { source: 'cell', cell: cell.source, notebook: cell.notebook } : undefined);
      }
    });
    app.commands.addCommand(CommandIDs.show, {
      label: 'Show a Training Job',
      execute: args => {
        open();
        model.select(String(args.name ?? ''));
      }
    });
    app.commands.addCommand(CommandIDs.reload, {
      label: 'Reload Training Jobs',
      execute: () => model.reload()
    });
    for (const command of [CommandIDs.open, CommandIDs.newJob, CommandIDs.launchCell, CommandIDs.reload]) {
      palette?.addItem({ command, category: 'Training Jobs' });
    }

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        const ns = (settings.get('namespace').composite as string) || '';
        panel.settings = {
          defaultFramework: (settings.get('defaultFramework').composite as string) || 'pytorch',
          defaultWorkers: (settings.get('defaultWorkers').composite as number) || 2,
          logTailLines: (settings.get('logTailLines').composite as number) || 500
        };
        if (ns !== api.namespace) {
          api.namespace = ns;
          void started.then(() => model.reload());
        }
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason => console.error('jupyter-kf: could not load settings', reason));
    }
    console.log('jupyter-kf: the training jobs panel is active');
  }
};

export default plugin;
