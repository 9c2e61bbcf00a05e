/**
 * jupyter-kf's JupyterLab plugin: the "Training jobs" side panel and its commands.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { FileDialog } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { IJobSummary, KFApi, findJob, jobId, jobRef, reattachCode } from './api';
import { JobsModel } from './model';
import { describe } from './model';
import { KFPanel } from './panel';
import { jobTab, tabId } from './tab';

const PLUGIN_ID = 'jupyter-kf-labextension:plugin';

export namespace CommandIDs {
  export const open = 'jupyter-kf:open';
  export const newJob = 'jupyter-kf:new-job';
  export const launchCell = 'jupyter-kf:launch-cell';
  export const reload = 'jupyter-kf:reload';
  export const show = 'jupyter-kf:show-job';
  export const openTab = 'jupyter-kf:open-job-tab';
  export const suspend = 'jupyter-kf:suspend-job';
  export const resume = 'jupyter-kf:resume-job';
  export const remove = 'jupyter-kf:delete-job';
  export const copyName = 'jupyter-kf:copy-job-name';
  export const insertCode = 'jupyter-kf:insert-reattach-code';
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

    const openTab = (job: string) => {
      const id = tabId(job);
      const open = Array.from(app.shell.widgets('main')).find(w => w.id === id);
      if (open) {
        app.shell.activateById(id);
        return;
      }
      app.shell.add(jobTab(model, panel, job), 'main', { mode: 'split-right' });
    };
    const panel = new KFPanel({ model, pickScript, currentCell, openTab });
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, 'jupyter-kf-panel');

    const started = model.start();

    // A job that ends while the user looks elsewhere: a notification, with a link to it.
    model.finished.connect((_sender, job: IJobSummary) => {
      const watching = panel.isVisible && model.selected === jobId(job);
      if (watching) {
        return;
      }
      const failed = job.status.phase === 'Failed';
      const why = job.status.message ? `: ${job.status.message}` : '';
      const text = `Training job ${job.name} ${failed ? 'failed' : 'succeeded'}${failed ? why : ''}`;
      const options = {
        autoClose: failed ? (false as const) : 8000,
        actions: [{ label: 'Show job', callback: () => void app.commands.execute(CommandIDs.show, { name: jobId(job) }) }]
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
      label: 'Show Logs and Details',
      execute: args => {
        const job = target(args);
        open();
        model.select(job ? jobId(job) : null);
      }
    });
    // The list's context menu: each command acts on the job right-clicked (its row carries
    // its name and kind), or on args.name (a jobId, kind/name, or a bare name).
    const target = (args: { name?: unknown }): IJobSummary | undefined => {
      if (typeof args.name === 'string') {
        return findJob(model.jobs, args.name);
      }
      const node = app.contextMenuHitTest(n => !!n.dataset?.job);
      return node ? findJob(model.jobs, `${node.dataset.kind}/${node.dataset.job}`) : undefined;
    };
    const act = (label: string, run: (job: IJobSummary) => Promise<IJobSummary | void>) => (args: any) => {
      const job = target(args);
      if (!job) {
        return;
      }
      run(job)
        .then(result => result && model.upsert(result))
        .catch(err => Notification.error(`${label} ${job.name}: ${describe(err)}`, { autoClose: false }));
    };
    const phase = (args: any) => target(args)?.status.phase ?? '';
    app.commands.addCommand(CommandIDs.openTab, {
      label: 'Open in a Tab',
      execute: args => {
        const job = target(args);
        if (job) {
          openTab(jobId(job));
        }
      }
    });
    app.commands.addCommand(CommandIDs.suspend, {
      label: 'Suspend',
      isEnabled: args => !['Succeeded', 'Failed', 'Suspended'].includes(phase(args)),
      execute: act('Suspend', job => api.suspend(jobRef(job)))
    });
    app.commands.addCommand(CommandIDs.resume, {
      label: 'Resume',
      isEnabled: args => phase(args) === 'Suspended',
      execute: act('Resume', job => api.resume(jobRef(job)))
    });
    app.commands.addCommand(CommandIDs.remove, {
      label: 'Delete…',
      execute: args => {
        const job = target(args);
        return job ? panel.deleteJobs([jobId(job)]) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.copyName, {
      label: 'Copy Name',
      execute: args => {
        const job = target(args);
        if (job) {
          Clipboard.copyToSystem(job.name);
        }
      }
    });
    app.commands.addCommand(CommandIDs.insertCode, {
      label: 'Insert Code to Reattach in the Notebook',
      isEnabled: () => !!notebooks?.currentWidget,
      execute: args => {
        const job = target(args);
        const notebook = notebooks?.currentWidget;
        if (!job || !notebook) {
          return;
        }
        // A new cell below the active one, that shows the job's live widget when run.
        notebook.content.activeCellIndex = Math.max(0, notebook.content.activeCellIndex);
        void app.commands.execute('notebook:insert-cell-below').then(() => {
          notebook.content.activeCell?.model.sharedModel.setSource(reattachCode(job));
          app.shell.activateById(notebook.id);
        });
      }
    });
    const menu = [
      CommandIDs.show,
      CommandIDs.openTab,
      CommandIDs.suspend,
      CommandIDs.resume,
      CommandIDs.copyName,
      CommandIDs.insertCode,
      CommandIDs.remove
    ];
    menu.forEach((command, rank) =>
      app.contextMenu.addItem({ command, selector: '.jp-kf-job', rank: 100 + rank })
    );

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
          logTailLines: (settings.get('logTailLines').composite as number) || 10000
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
